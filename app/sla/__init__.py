"""SLA due times and states computed over an office's working calendar."""
