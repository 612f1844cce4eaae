"""A run_job message the tick sends (pre-serialized, pipelined straight to Redis) is exactly what
kombu's producer would put on the agent's queue for Celery's own message of that job — but
for its delivery tag, a unique uuid either way. Real Redis (the suite's broker)."""

import base64
import json
import uuid

import redis

from agents.dispatch import RUN_JOB_TASK, _RunJobMessages, agent_queue, jobs_send
from config.celery import app


def _pop(client, queue):
    """The oldest message, as the agent's Celery worker takes it (kombu: BRPOP)."""
    message = json.loads(client.rpop(queue))
    tag = message["properties"].pop("delivery_tag")
    assert uuid.UUID(tag)
    return message, tag


def test_it_sends_what_kombu_sends_for_celerys_message():
    job_id, agent_id = uuid.uuid4(), uuid.uuid4()
    queue = agent_queue(agent_id)
    client = redis.Redis.from_url(app.conf.broker_url)
    celery = app.amqp.create_task_message(
        str(job_id), RUN_JOB_TASK, (str(job_id),), {}, ignore_result=True
    )
    with app.producer_or_acquire() as producer:
        producer.publish(
            celery.body,
            exchange="",
            routing_key=queue,
            headers=celery.headers,
            serializer="json",
            retry=False,
            **celery.properties,
        )
    theirs, _ = _pop(client, queue)

    assert jobs_send(jobs=[(job_id, agent_id)]).published == [job_id]
    ours, tag = _pop(client, queue)

    assert ours == theirs
    assert client.llen(queue) == 0


def test_each_message_has_its_own_job_and_delivery_tag():
    agent_id = uuid.uuid4()
    queue = agent_queue(agent_id)
    client = redis.Redis.from_url(app.conf.broker_url)
    jobs = [(uuid.uuid4(), agent_id) for _ in range(3)]

    assert jobs_send(jobs=jobs).published == [job_id for job_id, _ in jobs]

    popped = [_pop(client, queue) for _ in jobs]
    assert [m["headers"]["id"] for m, _ in popped] == [str(j) for j, _ in jobs]
    bodies = [json.loads(base64.b64decode(m["body"])) for m, _ in popped]
    assert [body[0] for body in bodies] == [[str(j)] for j, _ in jobs]
    assert len({tag for _, tag in popped}) == 3


def test_the_body_encoded_in_parts_is_the_body_encoded_whole():
    """The body's base64 is made of three parts (the id's and two made once), which is only
    the whole body's base64 when the parts fall on 3-byte groups: checked against both the
    whole encoding and the path that encodes it whole."""
    messages = _RunJobMessages()
    assert messages._body_b64 is not None  # Celery's body today: the id starts at byte 3
    whole = _RunJobMessages()
    whole._body_b64 = None
    for _ in range(3):
        job_id = str(uuid.uuid4())
        body = json.loads(messages.for_job(job_id, "q"))["body"]
        assert (
            body == base64.b64encode(messages._body.replace(messages._ID, job_id).encode()).decode()
        )
        assert json.loads(whole.for_job(job_id, "q"))["body"] == body
