class Document < ApplicationRecord
  belongs_to :project
  belongs_to :category
  has_one_attached :file
end
