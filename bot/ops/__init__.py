"""Operations: Prometheus metrics (metrics.py) and the /healthz and /metrics server (server.py) for a load
balancer and for operators. Must not import telegram."""

from bot.ops.metrics import Metrics
from bot.ops.server import OpsServer

__all__ = ["Metrics", "OpsServer"]
