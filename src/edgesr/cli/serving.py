"""``edgesr serve``: the web app (apps/web) running an ONNX artifact in the browser."""

from __future__ import annotations

import signal
from pathlib import Path

import click


@click.command("serve")
@click.argument("artifact", type=click.Path(path_type=Path))
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to serve on (0: a free one).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to serve on. Browsers allow onnxruntime-web's threads on 127.0.0.1/localhost "
                   "(a secure context); other hosts over http run it on one thread.")
@click.option("--ort-dist", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="onnxruntime-web's dist/ folder [default: apps/web/node_modules/onnxruntime-web/dist, "
                   "from npm ci --prefix apps/web].")
@click.option("--verbose", "-v", is_flag=True, help="Print each request.")
def serve_cmd(artifact: Path, port: int, host: str, ort_dist: Path | None, verbose: bool) -> None:
    """Serve the web app with ARTIFACT (an ONNX artifact from edgesr export -f onnx) until Ctrl-C:
    open the printed URL, drop an image on the page, download the upscaled PNG. The page reads how to
    feed the model from the artifact's own metadata and runs it with onnxruntime-web (WASM; WebGPU
    where the browser has it)."""
    from edgesr.metadata import summary
    from edgesr.web.server import WebServer

    server = WebServer(artifact, host=host, port=port, ort_dist=ort_dist, log=click.echo if verbose else None)
    click.echo(f"{artifact.name}: {summary(server.contract)}")
    click.echo(f"serving the edgesr web app on {server.url} (Ctrl-C to stop)")
    # Ctrl-C and a plain kill (SIGTERM) both stop it cleanly, also where SIGINT came in ignored (a
    # background job of a non-interactive shell)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        server.close()
