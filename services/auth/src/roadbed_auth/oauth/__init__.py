"""The OAuth 2.0 / OpenID Connect provider: clients, authorization, tokens, discovery, pages."""
