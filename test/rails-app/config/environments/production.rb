Rails.application.configure do
  config.cache_classes = true
  config.eager_load = true
  config.consider_all_requests_local = false
  # SECRET_KEY_BASE comes from the environment (ActiveStorage signs its ids with a key derived from it).
  config.active_record.dump_schema_after_migration = false
end
