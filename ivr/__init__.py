"""The call and text flow: plain data in, decisions and TwiML out.

No web framework, no database, no clock of its own: time is always passed in.
"""
