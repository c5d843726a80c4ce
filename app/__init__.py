"""The service around the flow: settings, data, web routes, delivery, command line."""
