"""What the routes do beyond reading a request: receive files, resolve local assets, check
backends, keep the saved model configuration, queue jobs. No FastAPI routing here; errors
are LiftFlow's (``liftflow.errors``), or an HTTPException for what only the API knows."""
