"""Development tools, never for production: a local sign-in provider, tokens on demand, a tour.

* ``keys.py``: the provider's RSA signing keys and its TLS certificates;
* ``oidc.py``: the provider itself, Google's and Microsoft's protocols with real keys;
* ``cli.py``: ``dzdesk-dev token`` (an access token through the real sign-in endpoint);
* ``demo.py``: ``make demo``, a scripted tour of the running suite through the gateway.
"""
