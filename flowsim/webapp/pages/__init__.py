"""The pages of the browser app, one module each; :mod:`flowsim.webapp.navigation` lists them in the
navigation."""
