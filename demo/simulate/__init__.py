"""Live traffic for a running Pitboss (`manage.py simulate`): the casino front end, a game
aggregator and the payment providers, played over HTTP and checked answer by answer."""
