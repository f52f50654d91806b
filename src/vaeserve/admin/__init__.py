"""Generated code of the admin API (proto/vaeserve/admin); see vaeserve.admin.v1."""
