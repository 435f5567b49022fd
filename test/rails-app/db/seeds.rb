# Idempotent, as seeds run by `db:seed` after a reset must be: find_or_create_by! and attach only
# when nothing is attached yet.
admin = Account.find_or_create_by!(email: "admin@example.test") { |a| a.role = "admin" }
Account.find_or_create_by!(email: "support@example.test") { |a| a.role = "support" }

%w[Invoices Contracts Reports].each_with_index do |name, i|
  Category.find_or_create_by!(name: name) { |c| c.position = i + 1 }
end

unless admin.avatar.attached?
  admin.avatar.attach(
    io: StringIO.new("seeded avatar of #{admin.email}\n"),
    filename: "admin-avatar.txt",
    content_type: "text/plain",
  )
end
