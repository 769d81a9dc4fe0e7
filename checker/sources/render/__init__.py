"""Rendering Helm charts and kustomize overlays into the manifests users deploy.

`api` holds the shapes every renderer returns; `helm` and `kustomize` run the user's own tools
offline; the orchestration decides which charts and overlays a change touches.
"""
