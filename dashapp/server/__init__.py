"""The city server (``covplan serve``): logins, county rights and web security around the Dash app.

``covplan app`` stays the single-user planner with no login; this package wraps the same
Dash app's Flask server for the city office's intranet, served by gunicorn with several
worker processes. Modules, in the order a request meets them:

* ``config``    — :class:`ServerSettings` (store URL, allowed hosts, limits), from the environment;
* ``security``  — Host allow-list, CSRF double-submit token, idle expiry, security headers;
* ``auth``      — Flask-Login sessions, the login page, lock-out and rate limiting;
* ``guard``     — role and county checks on every Dash callback that changes data;
* ``accounts``  — users, roles, password hashes (argon2) and the security audit, in the store's database;
* ``roles``     — the three roles and what each may do (no web code: the CLI uses it too);
* ``wsgi``      — the application gunicorn loads; ``gunicorn_conf`` — workers and JSON access logs.
"""
