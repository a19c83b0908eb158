"""The names Dagster knows LiftFlow's things by: jobs, code location, run tags.

A leaf module (imports nothing), so the service, the launcher, reconciliation, the sweep
and the benchmark runner can all name a run without importing the Definitions.
"""

ANALYSIS_JOB = "lift_analysis"
SWEEP_JOB = "benchmark_sweep"
REPORT_JOB = "sweep_report"

LOCATION_NAME = "liftflow"
REPOSITORY_NAME = "__repository__"

# run tags
JOB_ID_TAG = "job_id"  # a LiftFlow job = every run with this tag, newest is current
PARENT_RUN_TAG = "dagster/parent_run_id"  # Dagster's, on a re-execution
WORKER_PID_TAG = "liftflow/worker_pid"  # lets start-up reconciliation tell a live run from a dead one
WORKER_HOST_TAG = "liftflow/worker_host"
WORKER_NAME_TAG = "liftflow/worker"  # the Celery worker (name@host) of the scaled profile
CELERY_QUEUE_TAG = "dagster-celery/queue"  # dagster-celery's: the queue a run's task goes to
SWEEP_ID_TAG = "sweep_id"
SWEEP_TAG = "liftflow/sweep"
SWEEP_CASES_TAG = "liftflow/sweep_cases"
REPORT_TAG = "liftflow/sweep_report"
USER_TAG_PREFIX = "user/"

# Dagster's own run tags that LiftFlow sets (its run queue, run monitoring and run retries read them)
PRIORITY_TAG = "dagster/priority"  # higher dequeues first: REST jobs 0, sweep cases -1
MAX_RUNTIME_TAG = "dagster/max_runtime"  # seconds; run monitoring fails a run that runs longer
MAX_RETRIES_TAG = "dagster/max_retries"  # automatic retries of a run whose worker died
RETRY_STRATEGY_TAG = "dagster/retry_strategy"  # FROM_FAILURE: the retry reuses the steps that succeeded
RETRY_NUMBER_TAG = "dagster/retry_number"  # set by Dagster on a retry run
WILL_RETRY_TAG = "dagster/will_retry"  # set by Dagster on a failed run: "true" when a retry follows
AUTO_RETRY_RUN_TAG = "dagster/auto_retry_run_id"  # set by Dagster on a failed run once its retry exists
SWEEP_PRIORITY = -1
