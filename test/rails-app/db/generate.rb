# Production-like data on top of the seeds, run with `bin/rails runner db/generate.rb [N]`: accounts
# with avatars, projects, documents with attached files, blobs that were uploaded but never attached,
# and attachments purged again (their blob rows and objects are gone, as after a user deleted a file).
n = Integer(ARGV.first || 5)
categories = Category.order(:id).to_a
abort "run db:seed first: no categories" if categories.empty?

n.times do |i|
  account = Account.create!(email: "user#{i}@example.test")
  account.avatar.attach(io: StringIO.new("avatar #{i}\n"), filename: "avatar-#{i}.txt", content_type: "text/plain")
  project = account.projects.create!(name: "Project #{i}")
  2.times do |j|
    doc = project.documents.create!(title: "Document #{i}.#{j}", category: categories[(i + j) % categories.size])
    doc.file.attach(io: StringIO.new("document #{i}.#{j}\n" * (j + 1)), filename: "doc-#{i}-#{j}.txt", content_type: "text/plain")
  end
end

# Direct uploads that were never attached to a record.
2.times do |i|
  ActiveStorage::Blob.create_and_upload!(io: StringIO.new("unattached #{i}\n"), filename: "unattached-#{i}.txt", content_type: "text/plain")
end

# Files a user removed: the attachment, the blob row and the object are all gone.
Document.order(:id).limit(1).each { |doc| doc.file.purge }

puts({ accounts: Account.count, documents: Document.count, blobs: ActiveStorage::Blob.count,
       attachments: ActiveStorage::Attachment.count }.to_json)
