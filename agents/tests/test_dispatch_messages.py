"""The templated run_job message is exactly what Celery itself would build for that job."""

import uuid

from agents.dispatch import RUN_JOB_TASK, _RunJobMessages
from config.celery import app


def test_it_builds_the_same_message_as_celery():
    task_id = str(uuid.uuid4())
    body, headers, properties = _RunJobMessages().for_job(task_id)
    celery = app.amqp.create_task_message(task_id, RUN_JOB_TASK, (task_id,), {}, ignore_result=True)
    assert body == celery.body
    assert properties == celery.properties
    assert headers == celery.headers
