"""The HTTP inference service (FastAPI + uvicorn) over a repository of model packages.

    stockcast serve --repo models --port 8000

See :mod:`serving.service.app` for the endpoints and the behaviour under load.
"""
