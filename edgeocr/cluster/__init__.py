"""Many machines: OCR jobs sent through Redis Streams to ``edgeocr worker`` processes."""
