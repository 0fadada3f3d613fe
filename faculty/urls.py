app_name = "faculty"

urlpatterns: list = []
