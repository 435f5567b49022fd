# No Bundler: the gems are Debian's system gems (ruby-rails, ruby-pg, ruby-aws-sdk-s3), which RubyGems
# activates on `require`. Bundler would have to resolve a Gemfile against them (and write a Gemfile.lock
# whose versions change with every Debian security update); see README.md.
