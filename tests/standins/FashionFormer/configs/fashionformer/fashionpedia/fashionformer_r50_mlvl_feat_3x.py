# STAND-IN config (test-only): the real one's custom imports and SyncBN.
custom_imports = dict(imports=["fashionformer", "datasets"], allow_failed_imports=False)
norm_cfg = dict(type="SyncBN", requires_grad=True)
model = dict(type="FashionFormer", backbone=dict(type="ResNet", depth=50, norm_cfg=norm_cfg))
