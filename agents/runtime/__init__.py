"""The agent runtime: the program that runs on a bot machine (SPEC §7). Start it with
`python -m agents.runtime`.

It stands outside the trust boundary. It imports nothing that imports Django, opens no database
connection and holds three things only — the control plane's URL, its own agent token and a
broker URL whose Redis user can read nothing but this agent's queue:

    MIMIC_URL, MIMIC_AGENT_ID, MIMIC_AGENT_TOKEN, MIMIC_BROKER_URL

    __main__.py   harden the process, clean the environment, start the heartbeat and the worker
    settings.py   what the runtime reads from its environment (and nothing else)
    client.py     the agent API over HTTP: heartbeat, claim, log, finish
    worker.py     the Celery app (this agent's queue only) and the run_job task
    jobs.py       one attempt of one job: claim -> run -> stream the log -> finish
    heartbeat.py  the agent's pulse: reports running jobs, obeys cancel/drop/stop, fences
    process.py    one script: its OS user, environment, work folder, process group, kill

It logs JSON lines through `logformat` (standard library and python-json-logger only): the
one log format, which the control plane's settings name too.

Everything that decides — claims, outcomes, deadlines, retries — is decided by the control plane;
the runtime reports what happened (an exit code, a timeout it enforced) and does what it is told.
"""
