"""The prediction browser's widgets: file bar, image list, filters, pictures, detections table."""
