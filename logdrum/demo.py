"""``logdrum demo``: placeholder registered early so the CLI imports; replaced below."""


def register(subparsers):
    p = subparsers.add_parser("demo", help="run the main job on built-in synthetic audio")
    p.add_argument("--out", default="demo_out")
    p.set_defaults(func=lambda args: 0)
