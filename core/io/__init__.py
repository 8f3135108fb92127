"""Image and video input/output: OpenImageIO frames, video decoding, frame naming, metadata, colour."""
