"""gunicorn's settings that a command line cannot hold (`gunicorn -c config/gunicorn.py`, the
Procfile's web line): its error and access logs in the one log format (JSON lines).

gunicorn configures logging from `logconfig_dict` before it loads the application: Django's
own LOGGING (config/settings.py), plus gunicorn's two loggers propagating to its root handler.
"""

from config.settings import LOGGING

logconfig_dict = {
    **LOGGING,
    "loggers": {
        **LOGGING["loggers"],
        "gunicorn.error": {"level": "INFO", "propagate": True},
        "gunicorn.access": {"level": "INFO", "propagate": True},
    },
}
# The Apache "combined" line without its own local-time timestamp (the record has one, in UTC),
# plus the request's duration.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
# gunicorn's control socket is one path per OS user ($XDG_RUNTIME_DIR or ~/.gunicorn): two
# servers of one user (make run beside the real-process tests) would take it from each other,
# and nothing here uses it.
control_socket_disable = True
