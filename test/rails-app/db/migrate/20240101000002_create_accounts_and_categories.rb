class CreateAccountsAndCategories < ActiveRecord::Migration[6.1]
  def change
    create_table :accounts do |t|
      t.string :email, null: false, index: { unique: true }
      t.string :role, null: false, default: "member"
      t.timestamps
    end

    create_table :categories do |t|
      t.string :name, null: false, index: { unique: true }
      t.integer :position, null: false, default: 0
      t.timestamps
    end
  end
end
