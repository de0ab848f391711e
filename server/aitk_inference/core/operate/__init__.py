"""Operating the endpoint after deploy: live logs, stop/start, tear down."""
