"""The sync protocol: the rules both the devices and the server must agree on.

Pure: no database, no network, no UI. The code here is the specification.
"""
