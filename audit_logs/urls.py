app_name = "audit_logs"
urlpatterns: list = []
