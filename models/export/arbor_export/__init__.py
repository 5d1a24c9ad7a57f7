"""Dev-only tooling that turns an open_clip CLIP checkpoint into an Arbor model package.

Nothing here is imported at run time by the services: they read the package's
manifest.json and ONNX files only.
"""
