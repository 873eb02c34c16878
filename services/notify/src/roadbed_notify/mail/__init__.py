"""Email: the templates, the mailers and the consumer that turns auth events into messages."""
