"""The Celery app of ``liftflow worker`` (``celery -A liftflow.orchestration.celery_app worker``).

The same broker, backend and queue as the instance's ``CeleryRunLauncher``
(``instance.celery_config``), with dagster-celery's run tasks registered: a worker takes one
whole ``lift_analysis`` run at a time and executes it against the shared instance (the
settings' storage URL and data folder)."""

from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_execute_job_task, create_resume_job_task

from liftflow.config import get_settings
from liftflow.errors import ConfigError
from liftflow.orchestration.instance import celery_config, prepare_dagster_home

_settings = get_settings()
if not _settings.broker_url:
    raise ConfigError("a LiftFlow worker needs LIFTFLOW_BROKER_URL (and LIFTFLOW_STORAGE_URL, "
                      "LIFTFLOW_DATA_DIR shared with the stack); see README 'Scaling out'")
prepare_dagster_home(_settings)
_c = celery_config(_settings)
app = make_app({"broker": _c["broker"], "backend": _c["backend"], "include": [],
                "config_source": _c["config_source"], "task_default_queue": _c["default_queue"]})
execute_job = create_execute_job_task(app)
resume_job = create_resume_job_task(app)
