"""The local run viewer behind `codehelm ui`: a small Starlette app over the run stores.

It reads what `codehelm runs` and `show` read (the trace store, checkpoints, eval folders)
and serves it on this machine only; see `app.create_app`.
"""
