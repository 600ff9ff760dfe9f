"""Running gildash's targets on another machine over OpenSSH: the link, the bundle, discovery, runs.

Never imports textual.
"""
