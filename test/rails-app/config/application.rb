require_relative "boot"

# What Bundler.require(*Rails.groups) would load from a Gemfile, named directly: only the frameworks
# this app uses. active_storage/engine brings action_controller and active_job with it.
require "rails"
require "active_record/railtie"
require "active_storage/engine"
require "pg"

module RailsApp
  class Application < Rails::Application
    config.load_defaults 6.1

    # Attaching enqueues ActiveStorage's analyze job: run it in the process that attached, so a seed or
    # runner process leaves the blob analyzed when it exits (the :async default could be cut off).
    config.active_job.queue_adapter = :inline
    config.active_storage.service = :amazon

    # Logs to stderr, not to log/*.log in the checkout.
    config.logger = ActiveSupport::Logger.new($stderr)
    config.log_level = ENV.fetch("RAILS_LOG_LEVEL", "warn")
  end
end
