"""Dagster definitions: ops, the lift_analysis job, resources, schedules."""
