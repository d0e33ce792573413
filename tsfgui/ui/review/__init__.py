"""The review window and its parts: the event looper with motion magnification, the signals of an
event, the review queue, the project and agreement panels."""
