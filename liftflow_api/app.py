"""``liftflow_api.app:app`` (what uvicorn serves): the app of ``liftflow_api.main``."""
from liftflow_api.main import app, create_app  # noqa: F401
