"""The browser: the web app in ``apps/web`` (onnxruntime-web, WASM or WebGPU) served on 127.0.0.1
(:mod:`edgesr.web.server`, ``edgesr serve``) and driven headless through Chromium
(:mod:`edgesr.web.browser`: tests, screenshots, ``edgesr bench --device browser``).

Nothing here imports PyTorch; the browser side needs ``pip install 'edgesr[web]'`` (selenium) and
Debian's ``chromium`` and ``chromium-driver``."""
