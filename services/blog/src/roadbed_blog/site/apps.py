from django.apps import AppConfig


class SiteConfig(AppConfig):
    name = "roadbed_blog.site"
    label = "blog_site"
    verbose_name = "Roadbed blog"
