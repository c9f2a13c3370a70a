"""The oracle's exception."""


class OracleError(Exception):
    """Something the operator must look at; the message is one line."""
