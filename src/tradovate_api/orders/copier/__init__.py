"""The trade copier: a leader account's orders mirrored on follower accounts.

One concept per module: :mod:`.sizing` (a follower's quantity from the leader's),
:mod:`.mapper` (a leader's account change → what the followers must do), :mod:`.ledger`
(what was copied, keyed by the exchange's ids: the idempotency), :mod:`.drift` (trades on a
follower the copier did not make), :mod:`.summary` (leader vs followers, for the final
summary) and :mod:`.service` (the copier itself, fed by the account reader). It sits inside
``orders``: it drives each follower's :class:`~tradovate_api.orders.OrderManager`, so every
copied order passes that follower's own risk checks, journal hook and at-most-once rules.
"""

from .drift import Drift, DriftDetector
from .ledger import CopyLedger
from .mapper import Intent, IntentKind, LeaderMapper
from .service import CopierService, Follower
from .sizing import Sizing
from .summary import FollowerSummary, copier_summary, summary_lines

__all__ = ["CopierService", "CopyLedger", "Drift", "DriftDetector", "Follower",
           "FollowerSummary", "Intent", "IntentKind", "LeaderMapper", "Sizing",
           "copier_summary", "summary_lines"]
