"""Known values of Tradovate's string enumerations.

Models keep these fields as ``str`` so an unknown value from the server still decodes; these
``StrEnum`` classes compare equal to the wire strings (``order.ord_status == OrdStatus.WORKING``).
"""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    BUY = "Buy"
    SELL = "Sell"


class OrderType(StrEnum):
    LIMIT = "Limit"
    MIT = "MIT"
    MARKET = "Market"
    QTS = "QTS"
    STOP = "Stop"
    STOP_LIMIT = "StopLimit"
    TRAILING_STOP = "TrailingStop"
    TRAILING_STOP_LIMIT = "TrailingStopLimit"


class TimeInForce(StrEnum):
    DAY = "Day"
    FOK = "FOK"
    GTC = "GTC"
    GTD = "GTD"
    IOC = "IOC"


class OrdStatus(StrEnum):
    CANCELED = "Canceled"
    COMPLETED = "Completed"
    EXPIRED = "Expired"
    FILLED = "Filled"
    PENDING_CANCEL = "PendingCancel"
    PENDING_NEW = "PendingNew"
    PENDING_REPLACE = "PendingReplace"
    REJECTED = "Rejected"
    SUSPENDED = "Suspended"
    UNKNOWN = "Unknown"
    WORKING = "Working"


class CommandType(StrEnum):
    CANCEL = "Cancel"
    MODIFY = "Modify"
    NEW = "New"


class CommandStatus(StrEnum):
    AT_EXECUTION = "AtExecution"
    EXECUTION_REJECTED = "ExecutionRejected"
    EXECUTION_STOPPED = "ExecutionStopped"
    EXECUTION_SUSPENDED = "ExecutionSuspended"
    ON_HOLD = "OnHold"
    PENDING = "Pending"
    PENDING_EXECUTION = "PendingExecution"
    REPLACED = "Replaced"
    RISK_PASSED = "RiskPassed"
    RISK_REJECTED = "RiskRejected"


class ExecType(StrEnum):
    CANCELED = "Canceled"
    COMPLETED = "Completed"
    DONE_FOR_DAY = "DoneForDay"
    EXPIRED = "Expired"
    NEW = "New"
    ORDER_STATUS = "OrderStatus"
    PENDING_CANCEL = "PendingCancel"
    PENDING_NEW = "PendingNew"
    PENDING_REPLACE = "PendingReplace"
    REJECTED = "Rejected"
    REPLACED = "Replaced"
    STOPPED = "Stopped"
    SUSPENDED = "Suspended"
    TRADE = "Trade"
    TRADE_CANCEL = "TradeCancel"
    TRADE_CORRECT = "TradeCorrect"


class EventType(StrEnum):
    CREATED = "Created"
    UPDATED = "Updated"
    DELETED = "Deleted"


class ShutdownReason(StrEnum):
    MAINTENANCE = "Maintenance"
    CONNECTION_QUOTA_REACHED = "ConnectionQuotaReached"
    IP_QUOTA_REACHED = "IPQuotaReached"


class SubscriptionErrorCode(StrEnum):
    NO_SERVICE_PLAN = "NoServicePlan"
    OPERATION_NOT_SUPPORTED = "OperationNotSupported"
    SUCCESS = "Success"
    UNKNOWN_REASON = "UnknownReason"
    UNKNOWN_SYMBOL = "UnknownSymbol"


class UserStatus(StrEnum):
    ACTIVE = "Active"
    CLOSED = "Closed"
    INITIATED = "Initiated"
    TEMPORARY_LOCKED = "TemporaryLocked"
    UNCONFIRMED_EMAIL = "UnconfirmedEmail"
