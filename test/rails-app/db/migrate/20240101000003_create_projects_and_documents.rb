class CreateProjectsAndDocuments < ActiveRecord::Migration[6.1]
  def change
    create_table :projects do |t|
      t.references :account, null: false, foreign_key: true
      t.string :name, null: false
      t.timestamps
    end

    create_table :documents do |t|
      t.references :project, null: false, foreign_key: true
      t.references :category, null: false, foreign_key: true
      t.string :title, null: false
      t.timestamps
    end
  end
end
