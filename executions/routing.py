from django.urls import path

from executions.consumers import WorkflowStatusConsumer

websocket_urlpatterns = [
    path("ws/workflows/<str:workflow_id>/", WorkflowStatusConsumer.as_asgi()),
]
