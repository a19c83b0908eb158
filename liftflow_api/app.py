"""What uvicorn serves: ``app``, the API of ``liftflow_api.main``; ``stack_app``, the same API
doing the stack's bookkeeping too (``liftflow up`` serves it)."""
from liftflow_api.main import app, create_app  # noqa: F401

stack_app = create_app(bookkeeping=True)
