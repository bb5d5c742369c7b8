"""Face pre/post-processing shared by both backends: priors, decoding, NMS, alignment.

Everything here is plain vectorized numpy (plus OpenCV for resizing and
warping), so the MLX and ONNX backends feed identical tensors in and read
identical tensors out: any difference between them is the network's.
"""
