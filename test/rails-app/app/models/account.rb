class Account < ApplicationRecord
  has_one_attached :avatar
  has_many :projects, dependent: :destroy

  validates :email, presence: true, uniqueness: true
end
